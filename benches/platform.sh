#!/usr/bin/env bash
# The inference platform (configs/) under load, beside a hand-written gateway.
#
#   benches/platform.sh [--duration 10s] [--runs 3] [--connections 32] [--e2e-duration 10s]
#
# Rows:
#   gateway, 202 path   `wrk -t1 -cC -dD --latency` posting a valid request with a valid key:
#                       requests/s, p50 and p99, for configs/gateway.yaml on the production
#                       backends beside examples/bench_gateway_baseline (hyper +
#                       deadpool-postgres + redis + lapin doing the same work). Runs interleave;
#                       each figure is the median of R runs.
#   end to end          gateway + worker + collector + mock ML (zero latency), each its own
#                       process: wrk for the e2e duration, then until every accepted request is
#                       completed; completed requests per second from the first row created to
#                       the last one finished.
# Needs PostgreSQL, Redis and RabbitMQ on loopback (scripts/services.sh starts them) and wrk
# (installed with apt-get when missing). Uses its own database (bench_platform), Redis database
# 15 and queues. All traffic stays on 127.0.0.1. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10s
E2E_DURATION=10s
RUNS=3
CONNECTIONS=32
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --e2e-duration) E2E_DURATION=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo "[bench] $*" >&2; }

say "building (release)"
cargo build --release --quiet --features bench-baselines --bin engine --example bench_gateway_baseline
BIN=${CARGO_TARGET_DIR:-target}/release
ENGINE=$BIN/engine
BASELINE=$BIN/examples/bench_gateway_baseline
if ! command -v wrk >/dev/null; then
  say "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

PSQL="psql -h 127.0.0.1 -U postgres -qAt"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/bench_platform?sslmode=disable"
export REDIS_URL="redis://127.0.0.1:6379/15"
export AMQP_URL="amqp://guest:guest@127.0.0.1:5672/"
export REQUEST_QUEUE=bench_inference_requests RESULT_QUEUE=bench_inference_results
export ENGINE_HTTP_ADDRESS=127.0.0.1:0 PG_POOL_SIZE=16 SCHEMA_FILE=configs/schema.sql
export MOCK_ML_ADDRESS=127.0.0.1:18700 ML_SERVICE_URL=http://127.0.0.1:18700
GATEWAY=127.0.0.1:18780

$PSQL -d test -c "DROP DATABASE IF EXISTS bench_platform WITH (FORCE)" -c "CREATE DATABASE bench_platform"
$PSQL -d bench_platform -f configs/schema.sql >/dev/null
KEY_HASH=$(printf '%s' bench-key | sha256sum | cut -d' ' -f1)
$PSQL -d bench_platform -c "INSERT INTO api_keys VALUES ('$KEY_HASH', 'bench', 1000000000000, true)"

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
wrk.body = '{"model": "bench", "prompt": "Summarise the plot of a long novel in two sentences.", "max_tokens": 16}'
LUA

reset_state() {
  redis-cli -n 15 FLUSHDB >/dev/null
  $PSQL -d bench_platform -c "TRUNCATE results, requests"
  "$BASELINE" --declare 2>/dev/null
}

await_port() {
  local i
  for i in $(seq 300); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "$1 never opened"; return 1
}

start() { # log command... (the process inherits the exported backends)
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
}

stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# wrk against the gateway; prints "requests/s p50_ms p99_ms non2xx".
load() { # duration
  wrk -t1 -c"$CONNECTIONS" -d"$1" --latency -s "$work/post.lua" "http://$GATEWAY/api/v1/inference" >"$work/wrk.txt"
  python3 - "$work/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f} {bad.group(1) if bad else 0}")
PY
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

engine_rows=()
baseline_rows=()
for run in $(seq "$RUNS"); do
  reset_state
  start "$work/gateway.log" env GATEWAY_ADDRESS=$GATEWAY "$ENGINE" run -r configs/backends/production.yaml -c configs/gateway.yaml
  await_port $GATEWAY
  load 2s >/dev/null # warm-up: connections, prepared statements
  r=$(load "$DURATION"); engine_rows+=("$r"); say "engine run $run: $r"
  stop_all

  reset_state
  start "$work/baseline.log" "$BASELINE" --address $GATEWAY
  await_port $GATEWAY
  load 2s >/dev/null
  r=$(load "$DURATION"); baseline_rows+=("$r"); say "baseline run $run: $r"
  stop_all
done

col() { printf '%s\n' "${@:2}" | awk -v c="$1" '{print $c}' | median; }
e_rps=$(col 1 "${engine_rows[@]}"); b_rps=$(col 1 "${baseline_rows[@]}")
e_p50=$(col 2 "${engine_rows[@]}"); b_p50=$(col 2 "${baseline_rows[@]}")
e_p99=$(col 3 "${engine_rows[@]}"); b_p99=$(col 3 "${baseline_rows[@]}")
e_bad=$(col 4 "${engine_rows[@]}"); b_bad=$(col 4 "${baseline_rows[@]}")

# --- end to end ---------------------------------------------------------------------------
reset_state
start "$work/mock.log" "$ENGINE" run -r configs/backends/production.yaml -c configs/mock_ml.yaml
start "$work/worker.log" "$ENGINE" run -r configs/backends/production.yaml -c configs/worker.yaml
start "$work/collector.log" "$ENGINE" run -r configs/backends/production.yaml -c configs/collector.yaml
await_port "$MOCK_ML_ADDRESS"
sleep 1 # the worker and collector declare their queues as they connect
start "$work/gateway.log" env GATEWAY_ADDRESS=$GATEWAY "$ENGINE" run -r configs/backends/production.yaml -c configs/gateway.yaml
await_port $GATEWAY
load "$E2E_DURATION" >/dev/null
accepted=$($PSQL -d bench_platform -c "SELECT count(*) FROM requests")
for i in $(seq 1200); do
  open=$($PSQL -d bench_platform -c "SELECT count(*) FROM requests WHERE status NOT IN ('completed', 'failed')")
  [ "$open" = 0 ] && break
  sleep 0.5
done
read -r completed e2e_rps <<<"$($PSQL -F' ' -d bench_platform -c \
  "SELECT count(*), round(count(*) / extract(epoch FROM max(updated_at) - min(created_at))) FROM requests WHERE status = 'completed'")"
stop_all

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo
echo "Machine: $cpu, $(nproc) cores. wrk -t1 -c$CONNECTIONS -d$DURATION --latency, median of $RUNS runs."
echo
echo "| row | engine | hand-written baseline | ratio |"
echo "|---|---:|---:|---:|"
echo "| gateway 202 path, requests/s | $e_rps | $b_rps | $(echo "scale=2; $e_rps / $b_rps" | bc -l) |"
echo "| gateway p50 latency, ms | $e_p50 | $b_p50 | |"
echo "| gateway p99 latency, ms | $e_p99 | $b_p99 | |"
echo "| non-2xx answers | $e_bad | $b_bad | |"
echo "| end to end (gateway, worker, collector, mock), completed/s | $e2e_rps | | |"
echo
echo "End to end: $accepted accepted in $E2E_DURATION, $completed completed."
