#!/usr/bin/env bash
# Flame graphs (SVG) of rows of BENCHMARKS.md for one engine binary, into docs/perf/:
#   map-TAG.svg   stdin → mapping (the peers' enrichment program) → stdout, 50,000 lines
#   http-TAG.svg  http_server → drop under wrk -t2 -c64 for 5 s
#   amqp-TAG.svg  amqp_0_9 → drop (prefetch_count 10) for 4 s of a queue filled with 200,000
#                 messages by examples/bench_amqp_publisher
#
#   benches/flamegraph.sh --engine PATH --tag before|after [--rows "map http amqp"]
#
# Needs perf, wrk, inferno (`cargo install inferno`) and, for amqp, RabbitMQ on 127.0.0.1:5672
# (AMQP_URL). Stacks are unwound with DWARF (the release profile keeps debug symbols), sampled
# at 499 Hz on the CPU clock (a guest without hardware counters records no `cycles` samples).
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=target/release/engine
TAG=after
ROWS="map http amqp"
AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) ENGINE=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'pkill -f "$work/http.yaml" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 ../shared/peers/gen_data.py -n 50000 --seed 42 -o "$work/lines.jsonl"
cat > "$work/map.yaml" <<'YAML'
http: { enabled: false }
input: { stdin: {} }
pipeline:
  processors:
    - mapping: |
        root = this
        root.estimated_tokens = (this.prompt.length() / 4).ceil()
        root.status = "queued"
output: { stdout: {} }
YAML
cat > "$work/http.yaml" <<'YAML'
http: { enabled: false }
input: { http_server: { address: 127.0.0.1:18089, path: /post } }
output: { drop: {} }
YAML
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":1,"prompt":"hello world"}'
wrk.headers["Content-Type"] = "application/json"
LUA
svg() { # perf.data name title
  perf script -i "$1" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph --title "$3" > "docs/perf/$2-$TAG.svg"
  echo "docs/perf/$2-$TAG.svg"
}
row() { [[ " $ROWS " == *" $1 "* ]]; }
if row map; then
perf record -q -F 499 -e cpu-clock --call-graph dwarf,32768 -o "$work/map.data" \
  "$ENGINE" run -c "$work/map.yaml" < "$work/lines.jsonl" > /dev/null
svg "$work/map.data" map "stdin → mapping → stdout, 50k lines ($TAG)"
fi
if row http; then
"$ENGINE" run -c "$work/http.yaml" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null -X POST -d '{}' http://127.0.0.1:18089/post && break; sleep 0.1; done
perf record -q -F 499 -e cpu-clock --call-graph dwarf,32768 -o "$work/http.data" -p "$pid" -- sleep 5 &
rec=$!
wrk -t2 -c64 -d5s -s "$work/post.lua" http://127.0.0.1:18089/post | grep Requests/sec
wait "$rec" || true
kill "$pid"
svg "$work/http.data" http "http_server → drop under wrk -t2 -c64 ($TAG)"
fi
if row amqp; then
  cargo build --release --quiet --features bench-baselines --example bench_amqp_publisher
  publisher=${CARGO_TARGET_DIR:-target}/release/examples/bench_amqp_publisher
  queue=engine_flamegraph
  "$publisher" --url "$AMQP_URL" --queue "$queue" --purge --messages 200000 --max-in-flight 256 >/dev/null
  cat > "$work/amqp.yaml" <<YAML
http: { enabled: false }
input: { amqp_0_9: { urls: [ "$AMQP_URL" ], queue: $queue, prefetch_count: 10 } }
output: { drop: {} }
YAML
  "$ENGINE" run -c "$work/amqp.yaml" > /dev/null 2>&1 &
  pid=$!
  # perf follows the threads the process has when it attaches: let the runtime start them.
  sleep 0.5
  perf record -q -F 499 -e cpu-clock --call-graph dwarf,32768 -o "$work/amqp.data" -p "$pid" -- sleep 4
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  "$publisher" --url "$AMQP_URL" --queue "$queue" --purge --messages 0 >/dev/null
  svg "$work/amqp.data" amqp "amqp_0_9 → drop, prefetch 10 ($TAG)"
fi
