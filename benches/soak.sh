#!/usr/bin/env bash
# Memory under sustained load: does the engine's resident memory stay flat once warm?
#
#   benches/soak.sh [--duration 600] [--rows "http amqp"]
#
# Rows (each for DURATION seconds at full rate, RSS of the engine sampled every 10 s):
#   http_server → mapping → drop   wrk -t1 -c32 posting a small JSON body
#   amqp_0_9 → drop                examples/bench_amqp_publisher publishing persistent messages
#                                  into the queue the engine consumes, for the whole duration
# Needs RabbitMQ on 127.0.0.1:5672 for the amqp row (scripts/services.sh starts it) and wrk
# (installed with apt-get when missing). All traffic stays on 127.0.0.1. Prints a markdown table
# per row: seconds, RSS in MiB, and the throughput over the run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=600
ROWS="http amqp"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo "[soak] $*" >&2; }
cargo build --release --quiet --features bench-baselines --bin engine --example bench_amqp_publisher
BIN=${CARGO_TARGET_DIR:-target}/release
if ! command -v wrk >/dev/null; then
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

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
metric() { # port name: the sum of a metric
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'index($0, m "{") == 1 {s += $NF} END {printf "%d", s}'
}

# Sample the engine's RSS every 10 s for DURATION seconds; prints the table rows.
sample() { # pid api_port metric
  local pid=$1 api=$2 m=$3 t=0 start_count end_count
  start_count=$(metric "$api" "$m")
  echo "| 0 | $(rss_mib "$pid") |"
  while [ "$t" -lt "$DURATION" ]; do
    sleep 10
    t=$((t + 10))
    echo "| $t | $(rss_mib "$pid") |"
  done
  end_count=$(metric "$api" "$m")
  echo
  echo "$((end_count - start_count)) messages in ${DURATION} s: $(((end_count - start_count) / DURATION)) per second."
}

API=18991
if [[ " $ROWS " == *" http "* ]]; then
  PORT=18990
  cat >"$work/http.yaml" <<EOF
http:
  address: 127.0.0.1:$API
input:
  http_server:
    address: 127.0.0.1:$PORT
    path: /post
pipeline:
  processors:
    - mapping: 'root = this.merge({"seen": true, "n": this.id + 1})'
output:
  drop: {}
EOF
  cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id": 1, "text": "hello world"}'
LUA
  "$BIN/engine" run -c "$work/http.yaml" >"$work/http.log" 2>&1 &
  pids+=($!); engine=$!
  sleep 1
  wrk -t1 -c32 -d"$((DURATION + 15))s" -s "$work/post.lua" "http://127.0.0.1:$PORT/post" >"$work/wrk.txt" 2>&1 &
  pids+=($!)
  sleep 5 # warm-up
  echo "### http_server → mapping → drop, ${DURATION} s under wrk -t1 -c32"
  echo
  echo "| seconds | RSS MiB |"
  echo "|---:|---:|"
  sample "$engine" "$API" input_received
  echo
  kill "$engine" 2>/dev/null || true
  wait "$engine" 2>/dev/null || true
  sleep 16
fi

if [[ " $ROWS " == *" amqp "* ]]; then
  URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
  QUEUE=engine_soak
  "$BIN/examples/bench_amqp_publisher" --url "$URL" --queue "$QUEUE" --purge --messages 0 >/dev/null 2>&1
  cat >"$work/amqp.yaml" <<EOF
http:
  address: 127.0.0.1:$API
input:
  amqp_0_9:
    urls: [ "amqp://guest:guest@127.0.0.1:5672/" ]
    queue: $QUEUE
    prefetch_count: 100
output:
  drop: {}
EOF
  "$BIN/engine" run -c "$work/amqp.yaml" >"$work/amqp.log" 2>&1 &
  pids+=($!); engine=$!
  "$BIN/examples/bench_amqp_publisher" --url "$URL" --queue "$QUEUE" --messages 1000000000 \
    --max-in-flight 256 --timeout "$((DURATION + 60))" >"$work/pub.log" 2>&1 &
  pids+=($!); publisher=$!
  sleep 5
  echo "### amqp_0_9 → drop, ${DURATION} s with a publisher filling the queue"
  echo
  echo "| seconds | RSS MiB |"
  echo "|---:|---:|"
  sample "$engine" "$API" input_received
  kill "$publisher" "$engine" 2>/dev/null || true
  wait "$publisher" "$engine" 2>/dev/null || true
  "$BIN/examples/bench_amqp_publisher" --url "$URL" --queue "$QUEUE" --purge --messages 0 >/dev/null 2>&1
fi
